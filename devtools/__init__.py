"""Development tooling that never ships: ``make run``'s server (devserver), a private
Spanner emulator (emulator), the emulator's instance and database set-up (admin), and the
service as a child process of tests and benchmarks (service).

The image copies only main.py, api/ and spanner_ddl/ (see the Dockerfile); nothing in
api/ may import from here.
"""
