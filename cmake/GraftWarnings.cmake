# One set of warning flags for every graft target, host and plugins alike.
add_library(graft_warnings INTERFACE)
target_compile_options(graft_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${GRAFT_WERROR}>:-Werror>)
