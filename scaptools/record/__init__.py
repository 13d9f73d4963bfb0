"""Recording a source plugin's events into captures (``scap record``).

``source``: the plugin and its open params; ``recorder``: the loop, output files,
rotation and commits; ``state``: the resume journal (``--state``); ``summary``:
what a run did.
"""
