#!/bin/sh
# mmdebstrap essential hook (runs before the --include packages): configure the initramfs so that the
# kernel's postinst builds it once, small (MODULES=list), with the overlay module for the read-only root.
# $1 = the root being built; EVY_INITRAMFS_MODULES = space-separated module list.
set -eu
root="$1"
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"

# MODULES=most under qemu-user costs minutes per initramfs; an explicit list is enough for a Pi 4 and QEMU virt.
printf 'MODULES=list\n' > "$root/etc/initramfs-tools/conf.d/evy-modules.conf"

# A hook (not /etc/initramfs-tools/modules, which is a conffile of initramfs-tools) adds the modules;
# overlay is also force-loaded so overlayroot finds its driver before it looks.
cat > "$root/etc/initramfs-tools/hooks/evy-modules" <<EOF
#!/bin/sh
[ "\$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
for m in $EVY_INITRAMFS_MODULES; do
    manual_add_modules "\$m" || echo "W: evy-modules: no module \$m" >&2
done
echo overlay >> "\$DESTDIR/conf/modules"
EOF
chmod 0755 "$root/etc/initramfs-tools/hooks/evy-modules"

