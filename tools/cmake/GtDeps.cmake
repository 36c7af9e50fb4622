# Every dependency is a Debian package, imported as a target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nng CONFIG REQUIRED)
find_package(libwebsockets CONFIG REQUIRED)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
find_program(PROTOC_C protoc-c REQUIRED)

find_path(CSV_INCLUDE_DIR csv.h REQUIRED)
find_library(CSV_LIBRARY csv REQUIRED)
add_library(gt_csv INTERFACE)
target_include_directories(gt_csv INTERFACE ${CSV_INCLUDE_DIR})
target_link_libraries(gt_csv INTERFACE ${CSV_LIBRARY})

if(GT_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
