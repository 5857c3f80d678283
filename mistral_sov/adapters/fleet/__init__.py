"""Fleet residency inputs: what administrators can download from Intune (Graph
``deviceHealthScriptStates``/``deviceRunStates`` JSON, the portal's CSV export), the GPO
collector's JSON Lines, and raw Windows ``tracert`` captures. Every reader streams."""
