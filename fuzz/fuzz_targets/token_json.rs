//! Signed transactions and receipt batches arrive as JSON from anyone (`POST /api/v1/transactions`,
//! `/api/v1/receipts`): parsing must answer every input with a value or an error, and whatever
//! parses must check its signature without panicking and serialise back to an equal value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use token::{Address, Domain, Receipt, Signed, UserTx};

fuzz_target!(|data: &[u8]| {
    let domain = Domain {
        name: "fuzz".into(),
        version: "1".into(),
        chain_id: 31337,
        verifying_contract: Address([1; 20]),
    };
    let separator = domain.separator();
    if let Ok(tx) = serde_json::from_slice::<Signed<UserTx>>(data) {
        let _ = tx.check(&domain, &separator);
        let again: Signed<UserTx> = serde_json::from_str(&serde_json::to_string(&tx).unwrap()).unwrap();
        assert_eq!(again, tx);
    }
    if let Ok(receipts) = serde_json::from_slice::<Vec<Signed<Receipt>>>(data) {
        for r in &receipts {
            let _ = r.check(&domain, &separator);
        }
    }
});
