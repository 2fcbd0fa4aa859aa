"""Development tooling that never ships: ``make run``'s server (devserver), a private
Spanner emulator (emulator) and Pub/Sub emulator (pubsub), the emulator's instance and
database set-up (admin), the service as a child process of tests and benchmarks
(service), what the test suite needs from the machine (testdeps), and the import
contracts ``make lint`` checks (imports).

The image copies only main.py, api/ and spanner_ddl/ (see the Dockerfile); nothing in
api/ may import from here.
"""
