//! The Ethereum v3 keystore ("Web3 Secret Storage"): see the helper's implementation.
