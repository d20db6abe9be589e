"""The clerk's desk: the clerk's and the leaders' commands (`handlers.clerk.commands`), the
views they read, and the notices they send. Empty on purpose: importing one desk module (the
reminder renderer imports the digest) must not import them all (the Excel export, openpyxl).
"""
