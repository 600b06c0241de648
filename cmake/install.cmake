# What `cmake --install build --prefix P` installs:
#   P/lib/libtinymamba.so*                    the library (tinymamba_shared, src/tinymamba/CMakeLists.txt)
#   P/include/tinymamba/                      its headers; tinymamba/tinymamba.hpp says which of them are API
#   P/bin/tinymamba                           the command
#   P/lib/cmake/tinymamba/                    find_package(tinymamba CONFIG) -> tinymamba::tinymamba
#   P/lib/pkgconfig/tinymamba.pc              pkg-config --cflags --libs tinymamba
#   P/share/tinymamba/models/tinyshakespeare  the default model (tinymamba_MODELS_DIR in the package config)
#   P/lib/python3/dist-packages/              the Python module and its .pyi stub (python/CMakeLists.txt)
include(CMakePackageConfigHelpers)

install(TARGETS tinymamba_shared EXPORT tinymambaTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/tinymamba DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS tinymamba_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/models/tinyshakespeare/config.json
              ${PROJECT_SOURCE_DIR}/models/tinyshakespeare/model.safetensors
              ${PROJECT_SOURCE_DIR}/models/tinyshakespeare/tokenizer.json
              ${PROJECT_SOURCE_DIR}/models/tinyshakespeare/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tinymamba/models/tinyshakespeare)

set(TINYMAMBA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tinymamba)
install(EXPORT tinymambaTargets NAMESPACE tinymamba:: DESTINATION ${TINYMAMBA_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tinymambaConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/package/tinymambaConfig.cmake
                              INSTALL_DESTINATION ${TINYMAMBA_CMAKE_DIR}
                              PATH_VARS CMAKE_INSTALL_DATADIR)
# 0.x: a minor version may change the API (as semantic versioning allows before 1.0).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/tinymambaConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/tinymambaConfig.cmake
              ${PROJECT_BINARY_DIR}/package/tinymambaConfigVersion.cmake
        DESTINATION ${TINYMAMBA_CMAKE_DIR})
# pkg-config paths relative to the .pc file's own location (${pcfiledir}), so the installed tree can move.
file(RELATIVE_PATH TINYMAMBA_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" TINYMAMBA_PC_TO_PREFIX "${TINYMAMBA_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/tinymamba.pc.in ${PROJECT_BINARY_DIR}/package/tinymamba.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/tinymamba.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
