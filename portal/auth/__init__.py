"""Who the user is: the three ways in (local accounts, OIDC against Dex, an authenticating proxy) and the
one Identity every Kubernetes call and stream is made as (identity.identity_of)."""
