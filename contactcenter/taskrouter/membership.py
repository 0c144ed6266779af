"""Which workers each TaskQueue's `target_workers` matches (`TaskQueueWorker`), kept current when a
queue's expression or a worker's attributes change, so routing reads eligibility from an index."""

from django.db import transaction

from contactcenter.taskrouter.matching import worker_matches
from contactcenter.taskrouter.models import TaskQueue, TaskQueueWorker, Worker
from contactcenter.taskrouter.routing import routing_wake


def task_queue_membership_refresh(*, task_queue: TaskQueue) -> None:
    """Recompute one queue's workers (after its `target_workers` changed), and wake routing."""
    with transaction.atomic():
        TaskQueueWorker.objects.filter(task_queue=task_queue).delete()
        workers = Worker.objects.filter(workspace_id=task_queue.workspace_id).only("id", "attributes_json")
        TaskQueueWorker.objects.bulk_create(
            TaskQueueWorker(account_id=task_queue.account_id, task_queue=task_queue, worker_id=worker.id)
            for worker in workers.iterator()
            if worker_matches(task_queue.target_workers, worker.attributes_json)
        )
        routing_wake(workspace_id=task_queue.workspace_id)


def worker_membership_refresh(worker: Worker) -> None:
    """Recompute one worker's queues (created, or attributes changed); the caller holds the
    transaction and wakes routing."""
    TaskQueueWorker.objects.filter(worker=worker).delete()
    queues = TaskQueue.objects.filter(workspace_id=worker.workspace_id).only("id", "target_workers")
    TaskQueueWorker.objects.bulk_create(
        TaskQueueWorker(account_id=worker.account_id, task_queue_id=queue.id, worker=worker)
        for queue in queues
        if worker_matches(queue.target_workers, worker.attributes_json)
    )
