"""The web app people sign in to: sessions and CSRF (:mod:`api.web.session`), page
rendering (:mod:`api.web.render`) and one router per kind of work (account, provider,
community team, supplier, buyer, operator). Pages call the same domain functions as the
API: no rule is written twice."""
