"""The shop floor in the service: PLC points into the floor rules, the Andon board, backflush, card actions
from the API and the loops' analytics."""
