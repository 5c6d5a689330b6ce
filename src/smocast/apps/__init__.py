"""Applications on the public API: file transfer (one file, or sets of files and directories, with
a manifest and an end-to-end SHA-256 per file), resume, announcements and the receiver daemon.

Names load their module on first use (``import smocast.apps.resume`` loads no runtime).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smocast.core.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "FileTransferError": "smocast.apps.filetransfer",
    "ReceivedFile": "smocast.apps.filetransfer",
    "SendReport": "smocast.apps.filetransfer",
    "Server": "smocast.apps.filetransfer",
    "receive_file": "smocast.apps.filetransfer",
    "send_file": "smocast.apps.filetransfer",
    "Manifest": "smocast.apps.manifest",
    "ManifestError": "smocast.apps.manifest",
    "safe_name": "smocast.apps.manifest",
    "Entry": "smocast.apps.fileset",
    "FileSet": "smocast.apps.fileset",
    "SourceSet": "smocast.apps.setsource",
    "SetHistory": "smocast.apps.setsource",
    "scan": "smocast.apps.setsource",
    "send_set": "smocast.apps.setsource",
    "WritePolicy": "smocast.apps.setplan",
    "SetResult": "smocast.apps.setreceive",
    "receive_set": "smocast.apps.setreceive",
    "OutputError": "smocast.apps.safepath",
    "Announcement": "smocast.apps.announce",
    "Announcer": "smocast.apps.announcer",
    "Daemon": "smocast.apps.daemon",
    "Filter": "smocast.apps.daemon",
}

if TYPE_CHECKING:
    from smocast.apps.announce import Announcement
    from smocast.apps.announcer import Announcer
    from smocast.apps.daemon import Daemon, Filter
    from smocast.apps.fileset import Entry, FileSet
    from smocast.apps.filetransfer import (
        FileTransferError,
        ReceivedFile,
        SendReport,
        Server,
        receive_file,
        send_file,
    )
    from smocast.apps.manifest import Manifest, ManifestError, safe_name
    from smocast.apps.safepath import OutputError
    from smocast.apps.setplan import WritePolicy
    from smocast.apps.setreceive import SetResult, receive_set
    from smocast.apps.setsource import SetHistory, SourceSet, scan, send_set

__all__ = [
    "Announcement",
    "Announcer",
    "Daemon",
    "Entry",
    "FileSet",
    "FileTransferError",
    "Filter",
    "Manifest",
    "ManifestError",
    "OutputError",
    "ReceivedFile",
    "SendReport",
    "Server",
    "SetHistory",
    "SetResult",
    "SourceSet",
    "WritePolicy",
    "receive_file",
    "receive_set",
    "safe_name",
    "scan",
    "send_file",
    "send_set",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
