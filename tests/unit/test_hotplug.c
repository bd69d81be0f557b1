/* test_hotplug.c — agent/usb.h device filter, agent/modwatch.h backoff and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "modwatch.h"
#include "usb.h"

static void
test_usb_ccid_device_class(void **state)
{
	(void)state;
	assert_int_equal(usb_is_token_device(0x0b, 0x1234, NULL, 0), 1);
}

static void
test_usb_ccid_interface(void **state)
{
	const uint8_t ifaces[] = { 0x03, 0x0b };

	(void)state;
	/* class 0 on the device (per interface), CCID on its second interface */
	assert_int_equal(usb_is_token_device(0x00, 0x1234, ifaces, 2), 1);
	assert_int_equal(usb_is_token_device(0x00, 0x1234, ifaces, 1), 0);
}

static void
test_usb_known_vendor(void **state)
{
	const uint8_t hid[] = { 0x03 };

	(void)state;
	/* a Feitian or Yubico token with vendor-specific or HID interfaces only */
	assert_int_equal(usb_is_token_device(0xff, 0x096e, hid, 1), 1);
	assert_int_equal(usb_is_token_device(0x00, 0x1050, hid, 1), 1);
}

static void
test_usb_other_devices(void **state)
{
	const uint8_t storage[] = { 0x08 }, hid[] = { 0x03 }, hub[] = { 0x09 };

	(void)state;
	assert_int_equal(usb_is_token_device(0x00, 0x0781, storage, 1), 0);  /* a disk */
	assert_int_equal(usb_is_token_device(0x00, 0x046d, hid, 1), 0);      /* a mouse */
	assert_int_equal(usb_is_token_device(0x09, 0x1d6b, hub, 1), 0);      /* a hub */
}

static void
test_usb_turned_off(void **state)
{
	(void)state;
	setenv("KYSO_USB_HOTPLUG", "0", 1);
	assert_int_equal(usb_hotplug_possible(), 0);
	unsetenv("KYSO_USB_HOTPLUG");
}

static void
test_usb_tracker(void **state)
{
	struct usb_tracker t = { { 0 }, 0 };
	const uint8_t ccid[] = { 0x0b }, hid[] = { 0x03 };

	(void)state;
	assert_int_equal(usb_tracker_event(&t, 1, 0x0103, 0, 0x1234, ccid, 1), 1);  /* reader */
	assert_int_equal(usb_tracker_event(&t, 1, 0x0104, 0, 0x046d, hid, 1), 0);   /* mouse */
	assert_int_equal(t.n, 1);
	assert_int_equal(usb_tracker_event(&t, 0, 0x0104, 0, 0, NULL, 0), 0);  /* mouse leaves */
	assert_int_equal(usb_tracker_event(&t, 0, 0x0103, 0, 0, NULL, 0), 1);  /* reader leaves */
	assert_int_equal(t.n, 0);
	assert_int_equal(usb_tracker_event(&t, 0, 0x0103, 0, 0, NULL, 0), 0);  /* once only */
	/* the same device arriving twice is tracked once */
	assert_int_equal(usb_tracker_event(&t, 1, 0x0201, 0x0b, 0, NULL, 0), 1);
	assert_int_equal(usb_tracker_event(&t, 1, 0x0201, 0x0b, 0, NULL, 0), 1);
	assert_int_equal(t.n, 1);
	/* more tokens than tracked: arrivals still count, the table does not overflow */
	for (unsigned k = 0; k < 2 * USB_TRACKED_MAX; k++)
		assert_int_equal(usb_tracker_event(&t, 1, 0x1000 + k, 0x0b, 0, NULL, 0), 1);
	assert_int_equal(t.n, USB_TRACKED_MAX);
}

static void
test_backoff_doubles_then_caps(void **state)
{
	(void)state;
	assert_int_equal(modwatch_retry_delay_ms(1), MODWATCH_RETRY_MIN_MS);
	assert_int_equal(modwatch_retry_delay_ms(2), 2 * MODWATCH_RETRY_MIN_MS);
	assert_int_equal(modwatch_retry_delay_ms(3), 4 * MODWATCH_RETRY_MIN_MS);
	assert_int_equal(modwatch_retry_delay_ms(30), MODWATCH_RETRY_MAX_MS);
	assert_int_equal(modwatch_retry_delay_ms(1000), MODWATCH_RETRY_MAX_MS);
	for (int i = 1; i < 40; i++)
		assert_true(modwatch_retry_delay_ms(i + 1) >= modwatch_retry_delay_ms(i));
}

static void
test_source_names(void **state)
{
	(void)state;
	assert_string_equal(modwatch_source_name(MODWATCH_SRC_SLOT_EVENTS), "slot-events");
	assert_string_equal(modwatch_source_name(MODWATCH_SRC_USB), "usb-hotplug");
	assert_string_equal(modwatch_source_name(MODWATCH_SRC_POLL), "poll");
	assert_string_equal(modwatch_source_name(MODWATCH_SRC_UNKNOWN), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usb_ccid_device_class),
		cmocka_unit_test(test_usb_ccid_interface),
		cmocka_unit_test(test_usb_known_vendor),
		cmocka_unit_test(test_usb_other_devices),
		cmocka_unit_test(test_usb_turned_off),
		cmocka_unit_test(test_usb_tracker),
		cmocka_unit_test(test_backoff_doubles_then_caps),
		cmocka_unit_test(test_source_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
