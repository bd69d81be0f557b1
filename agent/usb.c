/* usb.c — libusb hotplug: tokens and readers arriving and leaving (see usb.h). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

#include "log.h"
#include "usb.h"

#define USB_CLASS_SMART_CARD 0x0b

struct usb_watch {
	libusb_context *ctx;
	libusb_hotplug_callback_handle cb;
	pthread_t thread;
	atomic_int stopping;
	void (*activity)(void *);
	void *arg;
	struct usb_tracker tracker;  /* the USB thread's own */
};

int
usb_is_token_device(uint8_t dev_class, uint16_t vendor, const uint8_t *iface_classes,
    size_t n)
{
	if (dev_class == USB_CLASS_SMART_CARD)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (iface_classes[i] == USB_CLASS_SMART_CARD)
			return 1;
	/* tokens that may not announce the CCID class: udev/usb-ids.txt, also the udev rule's */
	for (size_t i = 0; i < usb_token_vendors_count; i++)
		if (usb_token_vendors[i].vendor == vendor)
			return 1;
	return 0;
}

int
usb_tracker_event(struct usb_tracker *t, int arrived, unsigned key, uint8_t dev_class,
    uint16_t vendor, const uint8_t *iface_classes, size_t n)
{
	size_t i;

	if (arrived) {
		if (!usb_is_token_device(dev_class, vendor, iface_classes, n))
			return 0;
		for (i = 0; i < t->n && t->key[i] != key; i++)
			;
		if (i == t->n && t->n < USB_TRACKED_MAX)
			t->key[t->n++] = key;
		return 1;
	}
	for (i = 0; i < t->n && t->key[i] != key; i++)
		;
	if (i == t->n)
		return 0;  /* not a token: a mouse, a disk... */
	t->key[i] = t->key[--t->n];
	return 1;
}

int
usb_hotplug_possible(void)
{
	const char *env = getenv("KYSO_USB_HOTPLUG");
	struct dirent *e;
	int entries = 0;
	DIR *d;

	if (env != NULL && strcmp(env, "0") == 0)
		return 0;
	if ((d = opendir("/sys/bus/usb/devices")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		entries += e->d_name[0] != '.';
	closedir(d);
	return entries > 0;
}

/* Reads the interface classes of dev's first configuration. Returns how many. */
static size_t
usb_iface_classes(libusb_device *dev, uint8_t *out, size_t max)
{
	struct libusb_config_descriptor *cfg;
	size_t n = 0;

	if (libusb_get_config_descriptor(dev, 0, &cfg) != 0)
		return 0;
	for (int i = 0; i < cfg->bNumInterfaces && n < max; i++)
		if (cfg->interface[i].num_altsetting > 0)
			out[n++] = cfg->interface[i].altsetting[0].bInterfaceClass;
	libusb_free_config_descriptor(cfg);
	return n;
}

static int LIBUSB_CALL
usb_on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev, void *arg)
{
	struct usb_watch *w = arg;
	unsigned key = (unsigned)libusb_get_bus_number(dev) << 8 |
	    libusb_get_device_address(dev);
	struct libusb_device_descriptor dd;
	uint8_t classes[32];
	size_t n = 0;

	(void)ctx;
	memset(&dd, 0, sizeof(dd));
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
		if (libusb_get_device_descriptor(dev, &dd) != 0)
			return 0;
		n = usb_iface_classes(dev, classes, sizeof(classes));
	}
	if (!usb_tracker_event(&w->tracker, ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED, key,
	    dd.bDeviceClass, dd.idVendor, classes, n))
		return 0;
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
		log_info("USB token or reader %04x:%04x arrived", dd.idVendor, dd.idProduct);
	else
		log_info("USB token or reader left (bus %u, device %u)", key >> 8, key & 0xff);
	w->activity(w->arg);
	return 0;
}

static void *
usb_main(void *arg)
{
	struct usb_watch *w = arg;

	while (!atomic_load(&w->stopping)) {
		/* sleeps until a device event; usb_watch_stop interrupts it */
		struct timeval tv = { 3600, 0 };

		if (libusb_handle_events_timeout_completed(w->ctx, &tv, NULL) != 0 &&
		    !atomic_load(&w->stopping)) {
			log_warn("USB hotplug stopped working; tokens are found by their modules "
			    "only");
			break;
		}
	}
	return NULL;
}

struct usb_watch *
usb_watch_start(void (*activity)(void *), void *arg)
{
	struct usb_watch *w = calloc(1, sizeof(*w));
	int r;

	if (w == NULL)
		return NULL;
	w->activity = activity;
	w->arg = arg;
	if ((r = libusb_init(&w->ctx)) != 0) {
		log_info("USB hotplug unavailable: %s", libusb_strerror(r));
		free(w);
		return NULL;
	}
	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) ||
	    (r = libusb_hotplug_register_callback(w->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
	    LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY,
	    LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, usb_on_hotplug, w, &w->cb)) !=
	    0) {
		log_info("USB hotplug unavailable: libusb cannot watch devices here");
		libusb_exit(w->ctx);
		free(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, usb_main, w) != 0) {
		log_warn("cannot start the USB hotplug thread");
		libusb_hotplug_deregister_callback(w->ctx, w->cb);
		libusb_exit(w->ctx);
		free(w);
		return NULL;
	}
	log_info("watching USB for tokens and readers");
	return w;
}

void
usb_watch_stop(struct usb_watch *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stopping, 1);
	libusb_interrupt_event_handler(w->ctx);
	pthread_join(w->thread, NULL);
	libusb_hotplug_deregister_callback(w->ctx, w->cb);
	libusb_exit(w->ctx);
	free(w);
}
