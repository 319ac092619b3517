"""The live code (活码): one QR on every poster that sends each scan to a group with room,
counted once per visitor per day; and the checks on an uploaded group QR."""
