"""moto server, with DynamoDB transactions made atomic for stream readers.

moto 5.2 applies a TransactWriteItems item by item and, when one is refused, restores a deep
copy of each table taken before it began. The stream records of the items it had applied stay
in the table's old stream shard (an outbox event of a cancelled transaction would reach the
bus), and the restored table has a new shard object, which iterators taken before never see.
On AWS a cancelled transaction writes no stream record, and a shard outlives any write.

Here each transaction's stream records are held back until it has succeeded, and every table
keeps the one shard object it had.

Step Functions: moto 5.2's SendTaskFailure handler passes the `error` on to its interpreter but
drops the `cause` (the interpreter takes both), so a waiting task failed with a cause reached
its Catch with `Cause: null`. Here the cause is passed on, as AWS keeps it.

Run as `python -c <this file> <moto.server arguments>`.
"""

import sys

from moto.core.responses import EmptyResult
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.stepfunctions.responses import StepFunctionResponse

_transact_write_items = DynamoDBBackend.transact_write_items


class _HeldRecords:
    """Stands in for a table's stream shard during a transaction, holding its records."""

    def __init__(self):
        self.records = []

    def add(self, old, new):
        self.records.append((old, new))


def transact_write_items(self, transact_items):
    names = {next(iter(item.values())).get("TableName") for item in transact_items}
    shards = {
        name: self.tables[name].stream_shard
        for name in names
        if name in self.tables and self.tables[name].stream_shard is not None
    }
    held = {name: _HeldRecords() for name in shards}
    for name, records in held.items():
        self.tables[name].stream_shard = records
    try:
        _transact_write_items(self, transact_items)
    finally:
        # The table may be the restored copy now: give it back its shard either way.
        for name, shard in shards.items():
            shard.table = self.tables[name]
            self.tables[name].stream_shard = shard
    for name, shard in shards.items():
        for old, new in held[name].records:
            shard.add(old, new)


DynamoDBBackend.transact_write_items = transact_write_items


def send_task_failure(self):
    backend = self.stepfunction_backend
    token = self._get_param("taskToken")
    error = self._get_param("error")
    cause = self._get_param("cause")
    try:
        backend.send_task_failure(token, error=error, cause=cause)
    except TypeError:
        # The backend without the interpreter (execute_state_machine off) takes no cause.
        backend.send_task_failure(token, error=error)
    return EmptyResult()


StepFunctionResponse.send_task_failure = send_task_failure

if __name__ == "__main__":
    main(sys.argv[1:])
