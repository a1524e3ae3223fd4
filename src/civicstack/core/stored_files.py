"""Files that belong to rows: removed from storage only once the rows' deletion has committed.

Deleting a file inside the transaction that deletes its row would lose the file if the
transaction rolls back; deleting it after commit loses nothing (at worst a crash between commit and
delete leaves an orphan file, which costs disk space, not data).
"""

from django.db import transaction
from django.db.models.fields.files import FieldFile


def delete_after_commit(files: list[FieldFile]) -> None:
    """Delete these stored files when the current transaction commits (at once in autocommit).
    Call it before deleting the rows: the storage and names are taken now."""
    doomed = [(file.storage, file.name) for file in files if file]
    if doomed:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in doomed])
