/*
 * usb.h — USB hotplug as a token event source (libusb).
 *
 * A thread waits in libusb for devices to arrive or leave; when the device is a smart-card
 * reader or token (CCID class 0x0B on the device or one of its interfaces, or a known
 * token vendor) it calls the activity callback, which asks every module watcher for a
 * burst of scans (a reader needs a few seconds before its card is usable). Without
 * activity the thread sleeps: it never wakes by itself.
 *
 * Where the machine shows no USB bus (no /sys/bus/usb/devices: containers, these test
 * machines) libusb still claims hotplug support but no event ever comes, so the watch is
 * not started and module watchers fall back to polling. KYSO_USB_HOTPLUG=0 in the
 * environment turns it off too.
 */
#ifndef KYSO_USB_H
#define KYSO_USB_H

#include <stddef.h>
#include <stdint.h>

struct usb_watch;

/* Returns 1 if USB hotplug can work here (a USB bus is visible, not turned off), else 0. */
int usb_hotplug_possible(void);

/*
 * Starts the watch: activity(arg) is called from the USB thread on each token or reader
 * arriving or leaving (also for those present at start). Returns NULL (logged) when
 * libusb cannot watch.
 */
struct usb_watch *usb_watch_start(void (*activity)(void *), void *arg);

/* Stops the thread and frees the watch; NULL is allowed. */
void usb_watch_stop(struct usb_watch *w);

/* The token devices seen arriving, so that their departure is recognised. */
#define USB_TRACKED_MAX 64
struct usb_tracker {
	unsigned key[USB_TRACKED_MAX];  /* bus << 8 | device address */
	size_t n;
};

/*
 * Feeds one hotplug event to t: a device arrived (with its descriptors) or left (only its
 * bus and address are known then). Returns 1 when the event concerns a token or reader
 * (the agent then rescans), else 0.
 */
int usb_tracker_event(struct usb_tracker *t, int arrived, unsigned key, uint8_t dev_class,
    uint16_t vendor, const uint8_t *iface_classes, size_t n);

/*
 * The vendors whose tokens show vendor-specific interfaces: udev/usb-ids.txt, compiled
 * into $(BUILD)/usb_ids.c by the Makefile (which makes the udev rule from the same list).
 */
struct usb_token_vendor {
	uint16_t vendor;
	const char *name;
};
extern const struct usb_token_vendor usb_token_vendors[];
extern const size_t usb_token_vendors_count;

/*
 * Returns 1 if a device looks like a token or smart-card reader: device class 0x0B, an
 * interface of class 0x0B (iface_classes, n of them), or a vendor of usb_token_vendors.
 */
int usb_is_token_device(uint8_t dev_class, uint16_t vendor, const uint8_t *iface_classes,
    size_t n);

#endif
