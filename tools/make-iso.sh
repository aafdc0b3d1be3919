#!/bin/sh
# make-iso.sh OUTPUT ISO_DIR: builds a GRUB rescue ISO (BIOS and UEFI) from
# ISO_DIR. grub-mkrescue is chatty on success, so its output is shown only
# when it fails.
set -eu
output=$1
iso_dir=$2
log="$output.log"
if ! grub-mkrescue -o "$output" "$iso_dir" >"$log" 2>&1; then
    cat "$log" >&2
    echo "make-iso: grub-mkrescue failed (needs grub-pc-bin, grub-efi-amd64-bin, xorriso, mtools: run ./tern setup)" >&2
    exit 1
fi
