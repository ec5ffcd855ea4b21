"""Business actions of the service: plain functions taking their collaborators as arguments."""
