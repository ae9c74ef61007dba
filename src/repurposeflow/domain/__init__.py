"""Pure rules, one home each: ``quota`` (tiers, the window, reserve, refund), ``platforms``
(output types and limits), ``measure`` (how text is counted), ``validation`` (what an
output must keep), ``text`` (input rules), ``model`` (entities), ``engine``/``progress``/
``stats``/``jobs``/``webhooks``/``external`` (values that cross the ports), ``billing``
and ``identity`` (provider rules), ``errors``, and ``ports`` (the Protocols only).

Nothing here imports anything outside the standard library, attrs and twitter-text.
"""
