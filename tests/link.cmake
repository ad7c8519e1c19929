# tests/link.cmake — extras for the trainer link's area.
#
# These tests run the trainer or server binary: build them with the tests.
foreach(t test_link_trainer test_tb_trainer)
  if(TARGET ${t})
    add_dependencies(${t} trainer)
  endif()
endforeach()
if(TARGET test_link_server)
  add_dependencies(test_link_server server)
endif()
