"""rangeguard.console: the live range-safety console (read-only web page fed by AFSS status packets).

``rangeguard console --status udp://127.0.0.1:PORT --mission M`` serves the
page (FastAPI, a websocket, static assets shipped in ``static/``); see
:mod:`rangeguard.console.server`.
"""
