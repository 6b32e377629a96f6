"""A plug-in that aborts the process while being imported."""
import os

os.abort()
