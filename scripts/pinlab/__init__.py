"""pinlab's results model and lab plan (Debian's python3 only).

Data flows one way: plan (matrices and the VM as data) -> build -> boot ->
collect (a boot's outputs, its verdict, the run index) -> analyse (compare,
report, dashboard, tables), and every reader finds result sets through the
run's index, run.json, never through file names.
"""
import os

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PinlabError(Exception):
    """Bad input or a broken file: one line for the user, exit 2, no traceback."""
