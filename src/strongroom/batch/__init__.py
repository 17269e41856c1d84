"""Bulk jobs over the Vault: import (rekey, reindex, scan and trace arrive later).

Every bulk job streams in constant memory, shows progress and can resume.
"""

from strongroom.batch._import import ImportSummary, StrictStop, import_file

__all__ = ["ImportSummary", "StrictStop", "import_file"]
