//! The three contracts' ABI as `sol!` declarations: what the hub and the member's wallet call, the
//! events the hub follows and every custom error they revert with (decoded into revert reasons).
//! Written from the interface in `contracts/src/*.sol`; the bytecode deployed comes from the
//! compiled artifacts (see `deploy`).

#![allow(clippy::too_many_arguments)]

alloy::sol! {
    #[sol(rpc, all_derives)]
    contract SeedToken {
        constructor(string name, string symbol, uint256 cap, uint256 annualBps, address minter, address initialHolder, uint256 initialSupply);

        function mintable() external view returns (uint256);
        function mint(address to, uint256 amount) external;
        function totalSupply() external view returns (uint256);
        function cap() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 value) external returns (bool);
        function transfer(address to, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function burn(uint256 value) external;

        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);

        error NotMinter(address caller);
        error MintExceedsBudget(uint256 amount, uint256 budget);
        error ZeroMinter();
        error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
        error ERC20InvalidCap(uint256 cap);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
        error ERC20InvalidSender(address sender);
        error ERC20InvalidReceiver(address receiver);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InvalidApprover(address approver);
        error ERC20InvalidSpender(address spender);
    }

    #[sol(rpc, all_derives)]
    contract StakingVault {
        constructor(address token, address operator, uint64 maxLockSecs, uint256 alphaWad);

        function positions(address account) external view returns (uint256 amount, uint64 lockEnd);
        function totalStaked() external view returns (uint256);
        function stake(uint256 amount, uint64 lockEnd) external;
        function unstake(uint256 amount) external;
        function slash(address account, uint256 amount, bytes32 evidence) external;
        function slashed(bytes32 evidence) external view returns (bool);
        function weightOf(address account) external view returns (uint256);

        event Staked(address indexed account, uint256 amount, uint64 lockEnd);
        event Unstaked(address indexed account, uint256 amount);
        event Slashed(address indexed account, uint256 amount, bytes32 evidence);

        error InvalidAlpha(uint256 alphaWad);
        error InvalidMaxLock();
        error ZeroToken();
        error ZeroAmount();
        error InvalidLockEnd(uint64 lockEnd, uint256 latest);
        error LockShortened(uint64 lockEnd, uint64 current);
        error StillLocked(uint64 lockEnd);
        error InsufficientStake(uint256 amount, uint256 staked);
        error EvidenceUsed(bytes32 evidence);
        error OwnableUnauthorizedAccount(address account);
        error OwnableInvalidOwner(address owner);
        error SafeERC20FailedOperation(address token);
    }

    #[sol(rpc, all_derives)]
    contract CumulativeDistributor {
        constructor(address token, address operator);

        function nextEpoch() external view returns (uint64);
        function lastEpoch() external view returns (uint64);
        function root() external view returns (bytes32);
        function claimed(address account) external view returns (uint256);
        function postRoot(uint64 epoch, bytes32 root, uint256 mintAmount, uint256 burnAmount) external;
        function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external;
        function deposit(uint256 amount) external;
        function depositFor(address account, uint256 amount) external;

        event RootPosted(uint64 indexed epoch, bytes32 root, uint256 minted, uint256 burned);
        event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
        event Deposited(address indexed account, uint256 amount);

        error ZeroToken();
        error EpochTooLow(uint64 epoch, uint64 nextEpoch);
        error InvalidProof();
        error NothingToClaim(address account);
        error ZeroAmount();
        error OwnableUnauthorizedAccount(address account);
        error OwnableInvalidOwner(address owner);
        error SafeERC20FailedOperation(address token);
    }
}
