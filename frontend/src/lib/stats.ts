// Counters the browser tests and the benchmark read (window.__rd): what arrived, what was
// drawn, how long the last full-history render took. Cheap integers, always on.
export const rdStats = {
  trainingMessages: 0,
  framesReceived: 0,
  framesDrawn: 0,
  chartRenders: 0,
  chartPoints: 0,
  /** The newest episode the charts show. */
  chartLastEpisode: 0,
  lastHistoryRenderMs: -1,
  lastHistoryPoints: 0,
  agentMessages: 0,
  agentSteps: 0,
  /** state_update messages of the training view's live-agent panel. */
  liveSteps: 0,
  /** Curriculum bands and evaluation points the charts draw. */
  bands: 0,
  retreats: 0,
  evalPoints: 0,
  /** Client coordinates of evaluation point i, and the index of the best one. */
  evalPointAt: null as null | ((i: number) => { x: number; y: number } | null),
  bestEval: -1,
  /** The recording name of evaluation point i ('' when none). */
  evalRecording: null as null | ((i: number) => string),
  /** The agent's cell at the replay's current step. */
  replayAgent: null as null | { x: number; y: number },
  /** Replay: the step the scrubber shows. */
  replayStep: -1,
  replayOpenMs: -1,
  /** Distinct cells the agent visits in the replayed recording. */
  replayCells: 0,
  /** The Runs view: messages of /ws/jobs, rows in its table, curves and seed-group bands
   * in its overlay, and how long the last overlay took to build and draw. */
  overviewMessages: 0,
  runsRows: 0,
  runsCurves: 0,
  runsBands: 0,
  runsRenderMs: -1,
  /** The newest episode on the overlay's axis. */
  runsLastEpisode: 0,
  /** Renders a synthetic overlay (runs × episodes) reps times; each render's ms. */
  runsBench: null as null | ((runs: number, episodes: number, reps: number, group: boolean) => Promise<number[]>),
  injectTraining: null as null | ((text: string) => void),
  /** Checks the training history: how many records, and whether episodes strictly increase
   * (a duplicated history after a reconnection would break that). */
  historyCheck: null as null | (() => { records: number; increasing: boolean; hellos: number; newest: number }),
};

declare global {
  interface Window {
    __rd: typeof rdStats;
  }
}
if (typeof window !== 'undefined') window.__rd = rdStats;
