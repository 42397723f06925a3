"""What fit shows while it trains: a tqdm bar per epoch (verbose=1) or one line per epoch (verbose=2)."""

import sys


def _format(metrics):
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


class EpochProgress:
    """Progress of one epoch. Silent when verbose=0."""

    def __init__(self, epoch, epochs, batches, verbose):
        self.verbose = verbose
        self.prefix = f"Epoch {epoch}/{epochs}"
        self.bar = None
        if verbose == 1:
            from tqdm.auto import tqdm  # imported here: the maths never needs it

            self.bar = tqdm(total=batches, desc=self.prefix, unit="batch", leave=True, dynamic_ncols=True)

    def update(self, metrics):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(metrics), refresh=False)
            self.bar.update(1)

    def close(self, metrics):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(metrics))
            self.bar.close()
        elif self.verbose == 2:
            print(f"{self.prefix}  {_format(metrics)}", file=sys.stdout, flush=True)
