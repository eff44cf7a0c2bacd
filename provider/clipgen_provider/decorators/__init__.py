"""TaskFlow decorators ``@task.clipia`` and ``@task.clipwise``, over the generate operators."""
