# Runs at install time (cmake --install, cpack): writes the systemd units and the configs with the
# prefix actually being installed to. Inputs (set by tools/cmake/GtInstall.cmake): GT_TEMPLATE_DIR,
# GT_BINDIR, GT_SHAREDIR (relative to the prefix), GT_SERVICE_USER, GT_HAVE_GATEWAY.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(SYSCONFDIR "/etc")
else()
  set(SYSCONFDIR "${prefix}/etc")
endif()
set(BINDIR "${prefix}/${GT_BINDIR}")
set(SHAREDIR "${prefix}/${GT_SHAREDIR}")
set(STATEDIR "/var/lib/gpu-telemetry")
set(SERVICE_USER "${GT_SERVICE_USER}")
set(root "$ENV{DESTDIR}")

set(services mq collector streamer)
if(GT_HAVE_GATEWAY)
  list(APPEND services gateway)
endif()
foreach(s ${services})
  # The example config always reflects this install; the live one is written only when absent
  # (an admin's edits survive a reinstall; dpkg handles the .deb's copy as a conffile).
  configure_file("${GT_TEMPLATE_DIR}/config/${s}.json.in" "${root}${SHAREDIR}/examples/${s}.json" @ONLY)
  message(STATUS "Installing: ${root}${SHAREDIR}/examples/${s}.json")
  set(live "${root}${SYSCONFDIR}/gpu-telemetry/${s}.json")
  if(NOT EXISTS "${live}")
    configure_file("${GT_TEMPLATE_DIR}/config/${s}.json.in" "${live}" @ONLY)
    message(STATUS "Installing: ${live}")
  endif()
  configure_file("${GT_TEMPLATE_DIR}/systemd/gt-${s}.service.in"
                 "${root}${prefix}/lib/systemd/system/gt-${s}.service" @ONLY)
  message(STATUS "Installing: ${root}${prefix}/lib/systemd/system/gt-${s}.service")
endforeach()
