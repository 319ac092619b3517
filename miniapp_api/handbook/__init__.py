"""The built handbook, served at /handbook/ from the same process as the mini-app."""
