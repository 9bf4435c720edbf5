# graft_add_stage(<name> SOURCES <files...> [LIBRARIES <libs...>])
#
# Builds one stage plugin (a shared library exporting graft's plugin ABI) with the same flags for
# in-tree and out-of-tree plugins. The library is named lib<name>.so, placed where the host looks
# for plugins (the build tree's plugins/ dir, or the install prefix's lib/graft/plugins), keeps its
# symbols hidden except the ABI exports, and is built with the LibTorch-compatible C++11 ABI.
include_guard(GLOBAL)

function(graft_add_stage name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "graft_add_stage(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_property(GLOBAL APPEND PROPERTY GRAFT_STAGE_TARGETS ${name})
  if(TARGET graft::sdk)
    target_link_libraries(${name} PRIVATE graft::sdk)
  else()
    target_link_libraries(${name} PRIVATE graft_sdk)
  endif()
  if(TARGET graft_warnings)
    target_link_libraries(${name} PRIVATE graft_warnings)
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_definitions(${name} PRIVATE _GLIBCXX_USE_CXX11_ABI=1 BOOST_DLL_USE_STD_FS)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(DEFINED GRAFT_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${GRAFT_PLUGIN_BUILD_DIR}")
  endif()
  if(DEFINED GRAFT_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${GRAFT_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
