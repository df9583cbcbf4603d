// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SeedToken} from "./SeedToken.sol";

/// @title CumulativeDistributor
/// @notice Pays members their earnings from the collective's epoch closes. Each close, the operator
/// posts the Merkle root of every account's cumulative earnings (an OpenZeppelin StandardMerkleTree
/// over `["address", "uint256"]`), minting that epoch's inflation into this contract and burning
/// what the close burned. Anyone may then claim for any account the difference between its
/// cumulative amount and what it was already paid. Deposits are credited to members by the hub
/// from the `Deposited` event.
/// @dev SeedToken's minter: deployed right after SeedToken, at the address the token was given
/// (see SeedToken's deployment order), then StakingVault.
contract CumulativeDistributor is Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice The token paid out, which this contract is the minter of.
    SeedToken public immutable token;

    /// @dev The current root (of epoch `lastEpoch`).
    bytes32 private _root;
    /// @dev The epoch of the current root; 0 before any.
    uint64 private _lastEpoch;
    /// @dev The lowest epoch `postRoot` accepts.
    uint64 private _nextEpoch;

    /// @notice The cumulative amount already paid to each account.
    mapping(address account => uint256) public claimed;

    /// @notice The operator posted `root` for `epoch`, minting `minted` here and burning `burned`.
    event RootPosted(uint64 indexed epoch, bytes32 root, uint256 minted, uint256 burned);
    /// @notice `account` was paid `amount`, for `cumulativeAmount` paid in all.
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
    /// @notice `amount` was deposited for `account`.
    event Deposited(address indexed account, uint256 amount);

    /// @notice The token may not be the zero address.
    error ZeroToken();
    /// @notice `epoch` is below the lowest epoch accepted, `nextEpoch`.
    error EpochTooLow(uint64 epoch, uint64 nextEpoch);
    /// @notice The proof does not prove the leaf against the current root.
    error InvalidProof();
    /// @notice `account` has already been paid its whole cumulative amount.
    error NothingToClaim(address account);
    /// @notice An amount of 0.
    error ZeroAmount();

    /// @param token_ The SeedToken (whose minter is this contract).
    /// @param operator The collective's operator, the owner (the only account that posts roots).
    constructor(address token_, address operator) Ownable(operator) {
        if (token_ == address(0)) revert ZeroToken();
        token = SeedToken(token_);
    }

    /// @notice The lowest epoch `postRoot` accepts (0 at first).
    function nextEpoch() external view returns (uint64) {
        return _nextEpoch;
    }

    /// @notice The current root: cumulative earnings as of epoch `lastEpoch()`.
    function root() external view returns (bytes32) {
        return _root;
    }

    /// @notice The epoch of the current root (0 before any).
    function lastEpoch() external view returns (uint64) {
        return _lastEpoch;
    }

    /// @notice Posts the cumulative earnings root of `epoch`. Only the operator.
    /// @param epoch The epoch closed; at least `nextEpoch()`.
    /// @param root The Merkle root of every account's cumulative earnings.
    /// @param mintAmount Minted to this contract (the token enforces its inflation budget and cap).
    /// @param burnAmount Burned from this contract's balance (fees the close burned).
    function postRoot(uint64 epoch, bytes32 root, uint256 mintAmount, uint256 burnAmount) external onlyOwner {
        uint64 next = _nextEpoch;
        if (epoch < next) revert EpochTooLow(epoch, next);

        _root = root;
        _lastEpoch = epoch;
        _nextEpoch = epoch + 1;
        emit RootPosted(epoch, root, mintAmount, burnAmount);

        if (mintAmount > 0) token.mint(address(this), mintAmount);
        if (burnAmount > 0) token.burn(burnAmount);
    }

    /// @notice Pays `account` its cumulative amount less what it was already paid. Anyone may call it
    /// for anyone: the tokens always go to `account`.
    /// @param account The account paid.
    /// @param cumulativeAmount The account's cumulative earnings in the current root.
    /// @param proof The account's proof (StandardMerkleTree `getProof`).
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, _root, leaf)) revert InvalidProof();
        uint256 paid = claimed[account];
        if (cumulativeAmount <= paid) revert NothingToClaim(account);
        uint256 amount;
        unchecked {
            amount = cumulativeAmount - paid;
        }

        claimed[account] = cumulativeAmount;
        emit Claimed(account, amount, cumulativeAmount);

        IERC20(address(token)).safeTransfer(account, amount);
    }

    /// @notice Deposits `amount` (pulled with transferFrom: approve first), credited to the caller.
    /// @param amount The tokens to deposit; > 0.
    function deposit(uint256 amount) external {
        _deposit(msg.sender, amount);
    }

    /// @notice Deposits `amount` (pulled from the caller with transferFrom), credited to `account`.
    /// @param account The account credited.
    /// @param amount The tokens to deposit; > 0.
    function depositFor(address account, uint256 amount) external {
        _deposit(account, amount);
    }

    /// @dev Emits the credit, then pulls the tokens from the caller.
    function _deposit(address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        emit Deposited(account, amount);
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
    }
}
