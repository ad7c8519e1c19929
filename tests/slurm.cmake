# The Slurm backend's tests start a real single-node cluster (scripts/slurm-cluster) and run
# the real programs on it.
if(TARGET test_slurm_sweep)
  add_dependencies(test_slurm_sweep run_demo rd_exec trainer server)
  set_tests_properties(test_slurm_sweep PROPERTIES TIMEOUT 600)
endif()
