"""The inference engine, always in a supervised child process (never in the API server's).

* ``procs``: start a child that cannot outlive us (process group + parent-death signal on Linux,
  a kill-on-close Job Object on Windows) and stop it with its whole group;
* ``launchers``: the command lines: our llama-cpp-python worker, or llama.cpp's ``llama-server``;
* ``worker``: the llama-cpp-python worker process (a small loopback HTTP server);
* ``supervisor``: start-up smoke generation, crash fall-back (repacking off), restart with
  backoff, fatal diagnosis after repeated start-up crashes;
* ``client``: the OpenAI-shaped HTTP calls to the engine, turning a dead engine into
  ``EngineCrashed``.
"""
