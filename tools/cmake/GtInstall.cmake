# `cmake --install` layout (GNU dirs under CMAKE_INSTALL_PREFIX) and the CPack .deb.
#   bin/                         gt-mq gt-collector gt-streamer [gt-gateway] [gtctl] gt-gen
#   share/man/man1/              man pages (gtctl)
#   share/gpu-telemetry/web/     the built dashboard (web/dist, when it has been built)
#   share/gpu-telemetry/proto/   the .proto files (clients in any language)
#   share/gpu-telemetry/examples/ example configs + a sample CSV
#   lib/systemd/system/          one unit per service (User=gpu-telemetry, --config <sysconf>/gpu-telemetry/*.json)
#   <sysconf>/gpu-telemetry/     the configs the units read (/etc when the prefix is /usr)
# Paths inside the units and configs are filled in at install time (cpack installs with prefix /usr,
# a developer with /usr/local or a scratch prefix), by packaging/install-templates.cmake.
include(GNUInstallDirs)

set(GT_WEB_DIST ${CMAKE_SOURCE_DIR}/web/dist CACHE PATH "built dashboard installed to share/gpu-telemetry/web (if present)")
set(GT_SERVICE_USER gpu-telemetry CACHE STRING "system user the systemd units run as")

set(gt_install_targets)
# (tools/gtctl installs gtctl and its man page itself)
foreach(t gt-mq gt-collector gt-streamer gt-gateway gt-gen)
  if(TARGET ${t})
    list(APPEND gt_install_targets ${t})
  endif()
endforeach()
install(TARGETS ${gt_install_targets} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages of the services: any section-1 page in man/ or services/*/, or registered by a target with
# set_property(GLOBAL APPEND PROPERTY GT_MAN_PAGES <file>) before this file is included.
file(GLOB gt_man_src LIST_DIRECTORIES false ${CMAKE_SOURCE_DIR}/man/*.1 ${CMAKE_SOURCE_DIR}/services/*/*.1)
get_property(gt_man_gen GLOBAL PROPERTY GT_MAN_PAGES)
if(gt_man_src OR gt_man_gen)
  install(FILES ${gt_man_src} ${gt_man_gen} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

set(gt_share ${CMAKE_INSTALL_DATADIR}/gpu-telemetry)
# The dashboard is built by npm outside CMake; whatever web/dist holds at install time is installed.
install(DIRECTORY ${GT_WEB_DIST}/ DESTINATION ${gt_share}/web OPTIONAL)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/proto/gtpb DESTINATION ${gt_share}/proto
        FILES_MATCHING PATTERN "*.proto" PATTERN "test.proto" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/charts/gpu-telemetry/files/sample-wide.csv DESTINATION ${gt_share}/examples)

# Units and configs: templated at install time with the prefix being installed to.
set(GT_HAVE_GATEWAY OFF)
if(TARGET gt-gateway)
  set(GT_HAVE_GATEWAY ON)
endif()
install(CODE "
  set(GT_TEMPLATE_DIR \"${CMAKE_SOURCE_DIR}/packaging\")
  set(GT_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(GT_SHAREDIR \"${gt_share}\")
  set(GT_SERVICE_USER \"${GT_SERVICE_USER}\")
  set(GT_HAVE_GATEWAY ${GT_HAVE_GATEWAY})
  include(\"${CMAKE_SOURCE_DIR}/packaging/install-templates.cmake\")
")

# ---- CPack: one .deb ------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gpu-telemetry)
set(CPACK_PACKAGE_VENDOR "gpu-telemetry")
set(CPACK_PACKAGE_CONTACT "gpu-telemetry maintainers <gpu-telemetry@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GPU telemetry pipeline: CSV streamer, message broker, collector, gateway")
set(CPACK_PACKAGE_DESCRIPTION "gt-streamer publishes GPU telemetry CSV (DCGM exporter, nvidia-smi, wide) to gt-mq;
gt-collector stores it per GPU and serves queries; gt-gateway serves REST, WebSocket,
Prometheus metrics and the dashboard. systemd units run each service as the gpu-telemetry user.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(gt_deb_ctl ${CMAKE_BINARY_DIR}/packaging/deb)
file(MAKE_DIRECTORY ${gt_deb_ctl})
foreach(s postinst prerm postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/${s}.in ${gt_deb_ctl}/${s} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()
set(gt_conffiles "")
foreach(c mq collector streamer gateway)
  if(c STREQUAL "gateway" AND NOT GT_HAVE_GATEWAY)
    continue()
  endif()
  string(APPEND gt_conffiles "/etc/gpu-telemetry/${c}.json\n")
endforeach()
file(WRITE ${gt_deb_ctl}/conffiles "${gt_conffiles}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${gt_deb_ctl}/postinst ${gt_deb_ctl}/prerm ${gt_deb_ctl}/postrm
    ${gt_deb_ctl}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# DESTDIR staging, so the install-time templates see the real prefix (/usr) and /etc stays absolute
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
include(CPack)
