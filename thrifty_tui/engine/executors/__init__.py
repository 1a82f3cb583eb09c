"""Where fits run: the ``Executor`` interface (base) and its implementation on this machine's
child processes (local). A cluster executor is a second implementation of the same interface."""
