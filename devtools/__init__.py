"""Development tooling that never ships: ``make run``'s server, a private Spanner
emulator, and the emulator's instance and database set-up, used by tests/ and bench/.

The image copies only main.py, api/ and spanner_ddl/ (see the Dockerfile); nothing in
api/ may import from here.
"""
