/* SPDX-License-Identifier: ISC */ typedef int clv_placeholder_clv_azimuth;
