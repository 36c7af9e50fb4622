# Build options shared by every target.
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
endif()

set(GT_SANITIZER "none" CACHE STRING "none|address|undefined|address,undefined|thread")
option(GT_WERROR "Treat warnings as errors" ON)
option(GT_TESTS "Build tests" ON)

add_library(gt_warnings INTERFACE)
target_compile_options(gt_warnings INTERFACE -Wall -Wextra -Wshadow -Wno-unused-parameter
  -Wstrict-prototypes -Wmissing-prototypes)
if(GT_WERROR)
  target_compile_options(gt_warnings INTERFACE -Werror)
endif()
target_compile_definitions(gt_warnings INTERFACE _GNU_SOURCE)

if(NOT GT_SANITIZER STREQUAL "none")
  add_compile_options(-fsanitize=${GT_SANITIZER} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GT_SANITIZER})
endif()
