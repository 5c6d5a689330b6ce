"""Applications on the public API: file transfer with a manifest and an end-to-end SHA-256."""

from smocast.apps.filetransfer import (
    FileTransferError,
    ReceivedFile,
    SendReport,
    receive_file,
    send_file,
)
from smocast.apps.manifest import Manifest, ManifestError, safe_name

__all__ = [
    "FileTransferError",
    "Manifest",
    "ManifestError",
    "ReceivedFile",
    "SendReport",
    "receive_file",
    "safe_name",
    "send_file",
]
