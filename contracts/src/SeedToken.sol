// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title SeedToken
/// @notice The collective's token: a capped, burnable ERC-20 whose only source of new supply after
/// genesis is one immutable minter (the CumulativeDistributor), bounded by an inflation budget.
/// @dev Deployment order (the minter is immutable, so its address is known before it exists):
///   1. the deployer predicts the distributor's address from its own nonce: with the token created
///      at nonce `n`, the distributor is created at nonce `n + 1`, so its address is
///      `keccak256(rlp([deployer, n + 1]))[12:]`;
///   2. deploy `SeedToken(name, symbol, cap, annualBps, predictedDistributor, holder, supply)`;
///   3. deploy `CumulativeDistributor(token, operator)` (it must land at the predicted address);
///   4. deploy `StakingVault(token, operator, maxLockSecs, alphaWad)`.
///
/// The budget starts at 0 at deployment and accrues `totalSupply * annualBps * dt / (10_000 * 365 days)`
/// per elapsed `dt` seconds, accrued (rounded down) before every change of supply; unused budget
/// carries over. The hub mints `supply * ((1 + r)^(t / year) - 1)` per epoch, which by Bernoulli's
/// inequality is at most `supply * r * t / year`, so the hub's schedule always fits this linear
/// budget. The cap (ERC20Capped) is enforced independently of the budget.
contract SeedToken is ERC20, ERC20Capped, ERC20Burnable {
    /// @notice Basis points in one whole.
    uint256 private constant BPS = 10_000;
    /// @notice The length of the year the rate is quoted per.
    uint256 private constant YEAR = 365 days;

    /// @notice The only account allowed to mint: the CumulativeDistributor.
    address public immutable minter;
    /// @notice The genesis inflation rate, in basis points per 365-day year.
    uint256 public immutable annualBps;

    /// @dev Budget accrued up to `_lastAccrual` and not yet minted.
    uint256 private _budget;
    /// @dev The timestamp the budget was last accrued at.
    uint256 private _lastAccrual;

    /// @notice `caller` is not the minter.
    error NotMinter(address caller);
    /// @notice `amount` is more than the accrued `budget`.
    error MintExceedsBudget(uint256 amount, uint256 budget);
    /// @notice The minter may not be the zero address.
    error ZeroMinter();

    /// @param name_ The token's name.
    /// @param symbol_ The token's symbol.
    /// @param cap_ The most the total supply may ever be (18-decimal units).
    /// @param annualBps_ The inflation budget's rate, basis points per 365-day year.
    /// @param minter_ The CumulativeDistributor (its predicted address).
    /// @param initialHolder The account the genesis supply is minted to.
    /// @param initialSupply The genesis supply (may be 0); at most `cap_`.
    constructor(
        string memory name_,
        string memory symbol_,
        uint256 cap_,
        uint256 annualBps_,
        address minter_,
        address initialHolder,
        uint256 initialSupply
    ) ERC20(name_, symbol_) ERC20Capped(cap_) {
        if (minter_ == address(0)) revert ZeroMinter();
        minter = minter_;
        annualBps = annualBps_;
        _lastAccrual = block.timestamp;
        if (initialSupply > 0) {
            _mint(initialHolder, initialSupply);
        }
    }

    /// @notice The budget the minter may mint now: accrued up to `block.timestamp`, not yet minted.
    /// @dev Not limited by the cap; `mint` enforces both.
    function mintable() external view returns (uint256) {
        return _budget + _accrued();
    }

    /// @notice Mints `amount` to `to` out of the accrued budget. Only the minter.
    /// @param to The recipient.
    /// @param amount The amount; at most `mintable()`, and the supply after it at most `cap()`.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _accrue();
        uint256 budget = _budget;
        if (amount > budget) revert MintExceedsBudget(amount, budget);
        _budget = budget - amount;
        _mint(to, amount);
    }

    /// @dev Budget accrued since `_lastAccrual` over the current supply, rounded down.
    function _accrued() private view returns (uint256) {
        uint256 dt = block.timestamp - _lastAccrual;
        if (dt == 0) return 0;
        return Math.mulDiv(totalSupply(), annualBps * dt, BPS * YEAR);
    }

    /// @dev Moves the budget up to `block.timestamp` at the current supply.
    function _accrue() private {
        uint256 accrued = _accrued();
        if (accrued > 0) _budget += accrued;
        _lastAccrual = block.timestamp;
    }

    /// @dev Accrues at the old supply before every mint or burn, then applies the cap.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        if (from == address(0) || to == address(0)) _accrue();
        super._update(from, to, value);
    }
}
