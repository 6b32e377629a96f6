"""A plug-in that hangs while being imported."""
import time

time.sleep(3600)
