"""pytest plugin (entry point ``pytest11``): collects ``*.scaptest.yaml`` specs."""
