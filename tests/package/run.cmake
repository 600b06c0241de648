# ctest `package`: installs the build into a temporary prefix and builds a small program against the installed
# copy twice — with find_package(tinymamba CONFIG) and with pkg-config — then runs both on the installed default
# model and checks that they print what the installed `tinymamba generate` prints for the same greedy run.
# With PYTHON (the build has the module), the installed module is imported and generates the same text.
# cmake -D BUILD_DIR=... -D PREFIX=... -D WORK=... -D SOURCE=tests/package -D GENERATOR=... -D CXX=...
#       [-D PYTHON=...] -P run.cmake
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
set(model ${PREFIX}/share/tinymamba/models/tinyshakespeare)
run("the installed command" ${PREFIX}/bin/tinymamba generate -m ${model} -p ROMEO: -n 8 --temperature 0)
set(want "${out}")

# find_package(tinymamba CONFIG): the program is configured against the prefix only (no source tree paths).
run("configuring the CMake consumer" ${CMAKE_COMMAND} -S ${SOURCE}/consumer -B ${WORK}/cmake-build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX})
run("building the CMake consumer" ${CMAKE_COMMAND} --build ${WORK}/cmake-build)
run("the CMake consumer" ${WORK}/cmake-build/consumer)
set(cmake_out "${out}")

# pkg-config: flags from the installed tinymamba.pc; the run path from its libdir.
run("pkg-config" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${PREFIX}/lib/pkgconfig
    pkg-config --cflags --libs tinymamba)
separate_arguments(flags UNIX_COMMAND "${out}")
run("pkg-config libdir" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${PREFIX}/lib/pkgconfig
    pkg-config --variable=libdir tinymamba)
string(STRIP "${out}" libdir)
run("building the pkg-config consumer" ${CXX} ${SOURCE}/consumer/main.cpp -o ${WORK}/pkgconfig-consumer ${flags}
    "-DMODEL_DIR=\"${model}\"" -Wl,-rpath,${libdir})
run("the pkg-config consumer" ${WORK}/pkgconfig-consumer)
set(pc_out "${out}")

# Both print "tinymamba <version>" and then the 8 generated characters, which the command prints after the prompt.
string(REGEX REPLACE "^tinymamba [^\n]*\n" "ROMEO:" got "${cmake_out}")
if(NOT got STREQUAL want)
  message(FATAL_ERROR "the CMake consumer printed\n${cmake_out}\nthe command\n${want}")
endif()
if(NOT pc_out STREQUAL cmake_out)
  message(FATAL_ERROR "the pkg-config consumer printed\n${pc_out}\nthe CMake consumer\n${cmake_out}")
endif()
if(PYTHON)
  # (no semicolons in the script: run() passes its arguments on as a CMake list)
  run("the installed Python module" ${CMAKE_COMMAND} -E env PYTHONPATH=${PREFIX}/lib/python3/dist-packages ${PYTHON}
      -c "import sys, tinymamba\nm = tinymamba.Model.load(sys.argv[1])\nprint('ROMEO:' + m.generate('ROMEO:', max_tokens=8, temperature=0))"
      ${model})
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "the installed Python module printed\n${out}\nthe command\n${want}")
  endif()
endif()
message(STATUS "installed package OK:\n${cmake_out}")
