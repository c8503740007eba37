"""The ``dualimpact`` command line (an edge over the domain packages, like ``api``)."""
