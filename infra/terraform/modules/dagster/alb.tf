# The UI: an application load balancer in front of the webserver. Ingress only from ui_allowed_cidrs; with a
# certificate, HTTPS on 443 (TLS 1.2+) and port 80 redirects; with OIDC or Cognito, sign-in before any request
# reaches Dagster (Dagster's open-source webserver has no login of its own).

data "aws_elb_service_account" "this" {}

locals {
  https        = var.certificate_arn != null
  authenticate = var.oidc != null || var.cognito != null

  # RFC 1918: a block is private when it lies inside one of these (same network at the range's prefix, and as long).
  private_ranges = [{ base = "10.0.0.0", bits = 8 }, { base = "172.16.0.0", bits = 12 }, { base = "192.168.0.0", bits = 16 }]
  ui_cidrs_private = [for c in var.ui_allowed_cidrs : anytrue([
    for r in local.private_ranges :
    tonumber(split("/", c)[1]) >= r.bits && cidrhost("${cidrhost(c, 0)}/${r.bits}", 0) == r.base
  ])]
  only_private_ui_cidrs  = alltrue(local.ui_cidrs_private)
  internal_load_balancer = coalesce(var.internal_load_balancer, local.only_private_ui_cidrs)
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is the account's choice (a shared one, or Shield); ingress is already limited to ui_allowed_cidrs.
  name                       = "${var.name}-dagster"
  load_balancer_type         = "application"
  internal                   = local.internal_load_balancer
  subnets                    = local.lb_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.load_balancer_deletion_protection
  idle_timeout               = 120
  tags                       = var.tags

  lifecycle {
    precondition {
      condition     = local.internal_load_balancer || !local.only_private_ui_cidrs
      error_message = "An internet-facing load balancer with only private ui_allowed_cidrs (${join(", ", var.ui_allowed_cidrs)}) lets nobody in: no client on the internet presents a private address. Make it internal (internal_load_balancer = true, reached over a VPN or peering), or list the public CIDRs of your office (with certificate_arn and sign-in)."
    }
  }

  access_logs {
    bucket  = var.access_log_bucket
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "webserver" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the webserver is one hop inside the VPC, security-group to security-group.
  name        = "${var.name}-dagster-web"
  port        = local.webserver_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = local.vpc_id
  tags        = var.tags

  health_check {
    path                = "/server_info"
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Plain HTTP only without certificate_arn (a UI reached over a VPN); with one, port 80 redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:TLS is on the HTTPS listener; this one either redirects or, without a certificate, serves plain HTTP to the allowed CIDRs.
  #checkov:skip=CKV2_AWS_20:It redirects to HTTPS whenever there is a certificate; without one there is no HTTPS to redirect to.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  lifecycle {
    precondition {
      condition     = !local.authenticate || local.https
      error_message = "oidc and cognito sign-in need HTTPS: set certificate_arn too."
    }
    precondition {
      condition     = !(var.oidc != null && var.cognito != null)
      error_message = "Set oidc or cognito, not both."
    }
  }

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.webserver.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

data "aws_secretsmanager_secret_version" "oidc" {
  count     = var.oidc == null ? 0 : 1
  secret_id = var.oidc.client_secret_secret_arn
}

resource "aws_lb_listener" "https" {
  count             = local.https ? 1 : 0
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  dynamic "default_action" {
    for_each = var.oidc == null ? [] : [var.oidc]
    content {
      type  = "authenticate-oidc"
      order = 1
      authenticate_oidc {
        issuer                 = default_action.value.issuer
        authorization_endpoint = default_action.value.authorization_endpoint
        token_endpoint         = default_action.value.token_endpoint
        user_info_endpoint     = default_action.value.user_info_endpoint
        client_id              = default_action.value.client_id
        client_secret          = data.aws_secretsmanager_secret_version.oidc[0].secret_string
      }
    }
  }

  dynamic "default_action" {
    for_each = var.cognito == null ? [] : [var.cognito]
    content {
      type  = "authenticate-cognito"
      order = 1
      authenticate_cognito {
        user_pool_arn       = default_action.value.user_pool_arn
        user_pool_client_id = default_action.value.user_pool_client_id
        user_pool_domain    = default_action.value.user_pool_domain
      }
    }
  }

  default_action {
    type             = "forward"
    order            = local.authenticate ? 2 : 1
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}
