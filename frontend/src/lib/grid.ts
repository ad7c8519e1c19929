// Draws a Frame on a canvas: the 8×8 (or larger) world, each affordance with a label, the
// agent and its short trail. Pure drawing, called at most once per animation frame with
// the newest frame only, so a trainer at full speed cannot queue up work in the page.
import type { Frame } from './frame';
import { affordanceLabel, PALETTE } from './world';

const AFF_COLOURS: Record<string, string> = {
  Bed: PALETTE.sky, LuxuryBed: PALETTE.sky, Shower: PALETTE.sky, HomeMeal: PALETTE.green,
  FastFood: PALETTE.orange, Job: PALETTE.yellow, Labor: PALETTE.yellow, Gym: PALETTE.green,
  Bar: PALETTE.purple, Park: PALETTE.green, Recreation: PALETTE.purple, Therapist: PALETTE.purple,
  Doctor: PALETTE.vermillion, Hospital: PALETTE.vermillion,
};

export function drawGrid(canvas: HTMLCanvasElement, f: Frame | null, trail: { x: number; y: number }[] = []): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 320;
  const cssH = canvas.clientHeight || cssW;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, cssW, cssH);
  const w = f?.width || 8;
  const h = f?.height || 8;
  const cell = Math.floor(Math.min(cssW / w, cssH / h));
  const ox = Math.floor((cssW - cell * w) / 2);
  const oy = Math.floor((cssH - cell * h) / 2);

  // Cells and affordances.
  ctx.font = `600 ${Math.max(9, Math.floor(cell * 0.28))}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const name = f?.cells[y * w + x] ?? '';
      const px = ox + x * cell;
      const py = oy + y * cell;
      ctx.fillStyle = name ? (AFF_COLOURS[name] ?? PALETTE.grey) + '55' : (x + y) % 2 ? '#f4f4f4' : '#fafafa';
      ctx.fillRect(px, py, cell, cell);
      if (name) {
        ctx.fillStyle = '#1a1a1a';
        ctx.fillText(affordanceLabel(name), px + cell / 2, py + cell * 0.3);
      }
    }
  }
  ctx.strokeStyle = '#d0d0d0';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i <= w; i++) {
    ctx.moveTo(ox + i * cell + 0.5, oy);
    ctx.lineTo(ox + i * cell + 0.5, oy + h * cell);
  }
  for (let j = 0; j <= h; j++) {
    ctx.moveTo(ox, oy + j * cell + 0.5);
    ctx.lineTo(ox + w * cell, oy + j * cell + 0.5);
  }
  ctx.stroke();

  // Trail: older positions fainter, drawn as a line through cell centres.
  if (trail.length > 1) {
    for (let i = 1; i < trail.length; i++) {
      const a = trail[i - 1];
      const b = trail[i];
      ctx.strokeStyle = `rgba(0, 114, 178, ${(0.15 + (0.6 * i) / trail.length).toFixed(2)})`;
      ctx.lineWidth = Math.max(2, cell * 0.08);
      ctx.beginPath();
      ctx.moveTo(ox + (a.x + 0.5) * cell, oy + (a.y + 0.5) * cell);
      ctx.lineTo(ox + (b.x + 0.5) * cell, oy + (b.y + 0.5) * cell);
      ctx.stroke();
    }
  }

  // The agent: a dark blue disc with a white ring, visible on every affordance colour.
  if (f?.agent) {
    const cx = ox + (f.agent.x + 0.5) * cell;
    const cy = oy + (f.agent.y + 0.62) * cell;
    ctx.beginPath();
    ctx.arc(cx, cy, cell * 0.22, 0, Math.PI * 2);
    ctx.fillStyle = PALETTE.blue;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.stroke();
  }
}
