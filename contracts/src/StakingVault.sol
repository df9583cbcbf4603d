// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title StakingVault
/// @notice Holds members' time-locked stakes of SeedToken. A stake is unlocked only once its lock
/// has ended, a lock can be extended but never shortened, and the operator (the owner) can slash a
/// stake, burning the slashed tokens, with a reference to the evidence that justified it.
/// @dev Deployed after SeedToken and CumulativeDistributor (see SeedToken's deployment order).
/// The hub computes stakers' shares itself; `weightOf` is for display.
contract StakingVault is Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice One account's stake.
    /// @param amount The tokens staked.
    /// @param lockEnd The timestamp from which the stake may be withdrawn.
    struct Position {
        uint256 amount;
        uint64 lockEnd;
    }

    /// @dev WAD fixed point: 1.0.
    uint256 private constant WAD = 1e18;
    /// @dev alpha's step: 0.5.
    uint256 private constant HALF_WAD = 5e17;
    /// @dev The largest alpha: 8.0.
    uint256 private constant MAX_ALPHA_WAD = 8e18;

    /// @notice The staked token (a SeedToken: ERC20Burnable).
    IERC20 public immutable token;
    /// @notice The longest lock, in seconds from the time of staking.
    uint64 public immutable maxLockSecs;
    /// @notice The lock-weight exponent in WAD, a multiple of 0.5e18, at most 8e18.
    uint256 public immutable alphaWad;

    /// @notice Each account's stake.
    mapping(address account => Position) public positions;
    /// @notice The sum of every position's amount.
    uint256 public totalStaked;
    /// @notice Evidence already slashed for: each evidence slashes once, so an operator that retries
    /// a slash after a crash cannot burn twice.
    mapping(bytes32 evidence => bool) public slashed;

    /// @notice `account` staked `amount` more, locked until `lockEnd`.
    event Staked(address indexed account, uint256 amount, uint64 lockEnd);
    /// @notice `account` withdrew `amount`.
    event Unstaked(address indexed account, uint256 amount);
    /// @notice The operator burned `amount` of `account`'s stake for `evidence`.
    event Slashed(address indexed account, uint256 amount, bytes32 evidence);

    /// @notice alpha is not a multiple of 0.5e18 at most 8e18.
    error InvalidAlpha(uint256 alphaWad);
    /// @notice The longest lock may not be 0.
    error InvalidMaxLock();
    /// @notice The token may not be the zero address.
    error ZeroToken();
    /// @notice An amount of 0.
    error ZeroAmount();
    /// @notice `lockEnd` is not in (now, now + maxLockSecs].
    error InvalidLockEnd(uint64 lockEnd, uint256 latest);
    /// @notice `lockEnd` would end before the current lock, `current`.
    error LockShortened(uint64 lockEnd, uint64 current);
    /// @notice The stake is locked until `lockEnd`.
    error StillLocked(uint64 lockEnd);
    /// @notice `amount` is more than the account's stake, `staked`.
    error InsufficientStake(uint256 amount, uint256 staked);
    /// @notice A slash for `evidence` was made already.
    error EvidenceUsed(bytes32 evidence);

    /// @param token_ The SeedToken.
    /// @param operator The collective's operator, the vault's owner (the only account that slashes).
    /// @param maxLockSecs_ The longest lock in seconds; > 0.
    /// @param alphaWad_ The lock-weight exponent in WAD: a multiple of 0.5e18, at most 8e18.
    constructor(address token_, address operator, uint64 maxLockSecs_, uint256 alphaWad_) Ownable(operator) {
        if (token_ == address(0)) revert ZeroToken();
        if (maxLockSecs_ == 0) revert InvalidMaxLock();
        if (alphaWad_ % HALF_WAD != 0 || alphaWad_ > MAX_ALPHA_WAD) revert InvalidAlpha(alphaWad_);
        token = IERC20(token_);
        maxLockSecs = maxLockSecs_;
        alphaWad = alphaWad_;
    }

    /// @notice Stakes `amount` more (pulled with transferFrom: approve the vault first) and sets the
    /// lock to end at `lockEnd`.
    /// @param amount The tokens to add; > 0.
    /// @param lockEnd The new lock end: after now, at most now + maxLockSecs, and not before the
    /// current lock end (locks never shorten).
    function stake(uint256 amount, uint64 lockEnd) external {
        if (amount == 0) revert ZeroAmount();
        uint256 latest = block.timestamp + maxLockSecs;
        if (lockEnd <= block.timestamp || lockEnd > latest) revert InvalidLockEnd(lockEnd, latest);
        Position storage position = positions[msg.sender];
        uint64 current = position.lockEnd;
        if (lockEnd < current) revert LockShortened(lockEnd, current);

        position.amount += amount;
        position.lockEnd = lockEnd;
        totalStaked += amount;
        emit Staked(msg.sender, amount, lockEnd);

        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraws `amount` of the caller's stake, once its lock has ended.
    /// @param amount The tokens to withdraw; > 0 and at most the stake.
    function unstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Position storage position = positions[msg.sender];
        uint64 lockEnd = position.lockEnd;
        if (block.timestamp < lockEnd) revert StillLocked(lockEnd);
        uint256 staked = position.amount;
        if (amount > staked) revert InsufficientStake(amount, staked);

        unchecked {
            position.amount = staked - amount;
            totalStaked -= amount;
        }
        emit Unstaked(msg.sender, amount);

        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Burns `amount` of `account`'s stake. Only the operator.
    /// @param account The slashed account.
    /// @param amount The tokens to burn; > 0 and at most the stake (never beyond it).
    /// @param evidence A reference to the evidence (the hash of the audit record that justifies it);
    /// each evidence slashes once.
    function slash(address account, uint256 amount, bytes32 evidence) external onlyOwner {
        if (amount == 0) revert ZeroAmount();
        if (slashed[evidence]) revert EvidenceUsed(evidence);
        slashed[evidence] = true;
        Position storage position = positions[account];
        uint256 staked = position.amount;
        if (amount > staked) revert InsufficientStake(amount, staked);

        unchecked {
            position.amount = staked - amount;
            totalStaked -= amount;
        }
        emit Slashed(account, amount, evidence);

        ERC20Burnable(address(token)).burn(amount);
    }

    /// @notice `account`'s lock weight: amount * (min(remaining, maxLock) / maxLock)^alpha, 0 once the
    /// lock has ended. For display: the hub computes shares itself.
    /// @dev WAD fixed point, rounded down at each step: ratio = remaining * 1e18 / maxLock; the
    /// integer part of alpha by repeated mulDiv, the half by Math.sqrt(ratio * 1e18).
    function weightOf(address account) external view returns (uint256) {
        Position memory position = positions[account];
        if (position.amount == 0 || position.lockEnd <= block.timestamp) return 0;
        uint256 remaining = Math.min(position.lockEnd - block.timestamp, maxLockSecs);
        uint256 ratio = Math.mulDiv(remaining, WAD, maxLockSecs);
        uint256 factor = WAD;
        uint256 whole = alphaWad / WAD;
        for (uint256 i = 0; i < whole; ++i) {
            factor = Math.mulDiv(factor, ratio, WAD);
        }
        if (alphaWad % WAD != 0) {
            factor = Math.mulDiv(factor, Math.sqrt(ratio * WAD), WAD);
        }
        return Math.mulDiv(position.amount, factor, WAD);
    }
}
